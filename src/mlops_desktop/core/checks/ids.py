"""The ids of the checks whose advice a recipe step can act on, where code that only
reads stored results (reopening a check run) can name them without importing the
checks themselves (and statsmodels and scipy with them)."""

RARE_CATEGORIES = "rare_categories"
VIF = "vif"
NORMALITY = "normality_residuals"
HETEROSCEDASTICITY = "heteroscedasticity"
