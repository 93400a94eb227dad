"""The inventory service: storages, products, operations, memberships as products, consumables."""
