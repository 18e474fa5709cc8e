"""What an exported model package needs to score, besides its pinned libraries.

- ``scoring``: reading, checking and scoring a table in chunks, and drift checks;
- ``drift``: the drift measures and rules (the app's Monitor page runs them too);
- ``performance``: estimated performance from calibrated probabilities, and realized
  performance by the same definitions (the app's Monitor page runs it too);
- ``monitoring``: the monitoring summary of a scoring run (``score.py --monitor-out``),
  which the app imports back;
- ``labels``: category labels and numbers as the model reads them;
- ``text_files``: how a CSV file is read, as the app's importer reads it;
- ``spreadsheet``: text cells of files meant for people, safe to open in a spreadsheet;
- ``mlflow_model``: the loader MLflow calls (``mlflow.pyfunc.load_model``);
- ``estimators`` (in a package only): the model's own estimator classes, a copy of the
  app's ``mlops_desktop.core.train.estimators``, which the saved model names.

``score.py`` and ``spark_score.py`` here are the programs IT runs: an export copies them
to the package's top, the modules above into its ``mlops_model_support/`` folder, byte
for byte. Nothing here imports the app that exported the package (an import-linter
contract holds it).
"""
