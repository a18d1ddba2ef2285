"""The use cases, each taking the signed-in principal and checking its role and team."""
