"""Indicators of the ESS per territory: pure functions, no I/O, no Streamlit."""
