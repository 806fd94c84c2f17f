"""The model's runtime, what a model bundle ships: reading a table, the preparation's encoders, the bundle's checks,
the predictor, streaming predictions of a file and each row's reasons. It imports nothing from the rest of dlcore
(``tests/test_layout.py`` holds it to that), so a bundle runs it as it is."""
