"""pay-exact on Dagster: many customers a night, each in a private Meltano view."""
