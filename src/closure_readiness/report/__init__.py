"""Documents built from a sealed decision: the PDF record, the family summary and exports."""
