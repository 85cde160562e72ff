"""Pages of the Streamlit app (thin: loaders + plain functions)."""
