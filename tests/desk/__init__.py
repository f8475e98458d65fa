"""Unit tests of the app package (desk/): its logic, without Streamlit's runtime (no AppTest)."""
