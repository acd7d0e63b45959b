"""PII classifier tests and the labelled evaluation set (dataset.py) that tests and bench/pii_eval.py share."""
