"""ETL of ESS structures: one module per source, geocoding, spatial assignment, refresh job."""
