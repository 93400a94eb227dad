"""The memberships service: membership types, sale, deduction per visit, validity and freezing."""
