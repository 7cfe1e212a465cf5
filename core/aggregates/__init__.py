"""The write model: the Tenant aggregate and the value objects its commands carry."""
