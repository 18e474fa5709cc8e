#!/usr/bin/env bash
# The packaged app's command line end to end, as IT or a script would use it: import,
# profile, checks, every model family, a model with a formula's terms (each one is pickled and loaded again, so a
# module missing from the bundle shows here), validation with a model card, approval
# by a second person, export, drift, training with joblib's worker processes, and the
# integrity check. Settings and workspaces live in a temporary folder.
#
# Usage: packaging/smoke_cli.sh [EXECUTABLE]   (default: dist/mlops-desktop/mlops-desktop)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exe="${1:-$root/dist/mlops-desktop/mlops-desktop}"
[ -x "$exe" ] || { echo "No executable at $exe: build it with make package." >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" XDG_STATE_HOME="$work/state" \
       XDG_CACHE_HOME="$work/cache"
unset MLOPS_DESKTOP_WORKSPACE
ws=(--workspace "$work/ws")
started=$(date +%s.%N)
steps=0

since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }

# step NAME EXPECTED_EXIT_CODE COMMAND...: run it, print one line, stop at the first failure
step() {
  local name="$1" expected="$2" t0 code=0
  shift 2
  t0=$(date +%s.%N)
  "$@" > "$work/output.txt" 2>&1 || code=$?
  steps=$((steps + 1))
  if [ "$code" != "$expected" ]; then
    echo "FAIL  $name: exit code $code, expected $expected"
    sed 's/^/      /' "$work/output.txt" | tail -40
    exit 1
  fi
  printf 'ok    %s (%s s)\n' "$name" "$(since "$t0")"
}

# a dataset large enough (18,000 rows) for training to use two worker processes
flights="$work/flights_18000.csv"
{ head -n 1 "$root/tests/data/flights_6000.csv"
  for _ in 1 2 3; do tail -n +2 "$root/tests/data/flights_6000.csv"; done; } > "$flights"

step "version" 0 "$exe" --version
step "import the sample" 0 "$exe" import "$root/resources/samples/penguins.csv" "${ws[@]}" --as ana
step "profile with an HTML report" 0 "$exe" profile penguins --target species --report "$work/profile.html" "${ws[@]}"
step "assumption checks" 0 "$exe" check penguins --target species "${ws[@]}"
step "train every classification family" 0 "$exe" train penguins --target species --exclude year \
  --model logistic --model ridge --model lasso --model elasticnet --model tree --model random_forest \
  --model hgb "${ws[@]}" --as ana
step "validate with a model card" 0 "$exe" validate penguins-species:1 --report "$work/card.html" "${ws[@]}" --as ana
step "stage: validated" 0 "$exe" models stage penguins-species:1 validated "${ws[@]}" --as ana
step "stage: approved by a second person" 0 "$exe" models stage penguins-species:1 approved \
  --comment "smoke test of the packaged app" "${ws[@]}" --as ben
step "export for IT" 0 "$exe" export penguins-species:1 --out "$work/export" "${ws[@]}" --as ana
step "drift: the same data does not drift" 0 "$exe" drift --reference penguins-species:1 \
  --current "$root/resources/samples/penguins.csv" --report "$work/drift.html" "${ws[@]}" --as ana
step "train with a formula (model terms, formulaic in the bundle)" 0 "$exe" train penguins \
  --formula "log(body_mass_g) ~ poly(flipper_length_mm, 2) + C(species, contr.treatment('Gentoo')) + ns(bill_length_mm, df=3)" \
  --model ols --cv 3 "${ws[@]}" --as ana
step "a formula that would run code is refused" 2 "$exe" check penguins \
  --formula "body_mass_g ~ {__import__('os').system('touch $work/ran')}" "${ws[@]}"
[ ! -e "$work/ran" ] || { echo "FAIL  a formula ran code"; exit 1; }
step "import 18,000 flights" 0 "$exe" import "$flights" "${ws[@]}" --as ana
step "train regression (statsmodels OLS, a tree) with worker processes" 0 "$exe" train flights_18000 \
  --target arr_delay --model ols --model tree --cv 3 "${ws[@]}" --as ana
step "integrity check" 0 "$exe" verify "${ws[@]}"
step "a team registry with no server says so (psycopg in the bundle)" 2 "$exe" init \
  --registry "host=$work/no-server dbname=team" --workspace "$work/team"
grep -q "the team registry cannot be reached" "$work/output.txt" \
  || { echo "FAIL  the team registry's driver did not answer"; sed 's/^/      /' "$work/output.txt"; exit 1; }
for f in profile.html card.html drift.html; do
  [ -s "$work/$f" ] || { echo "FAIL  report $f was not written"; exit 1; }
done
printf 'command-line smoke test passed: %d steps in %s s\n' "$steps" "$(since "$started")"
