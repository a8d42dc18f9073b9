"""The command lines: what every task shares, the invoke program and the nox sessions."""
