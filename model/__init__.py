"""dpm.model: case data and validation, the financial projection and the allocation MIP."""
