"""Privacy: pseudonymisation at the boundary, disclosure control on the published grids (primary
and secondary suppression with the LP auditor) and the differential privacy mode."""
