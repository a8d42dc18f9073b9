"""Why a step ran: the inputs each run records, and `invoke explain` reading them."""
