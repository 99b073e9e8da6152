"""HTTP shapes shared by the gateway (public API) and the service that serves them internally."""
