"""The landing side: reading and validating what the operator delivers (event files, the CRM
snapshot, opt-outs, the cell plan)."""
