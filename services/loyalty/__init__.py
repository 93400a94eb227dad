"""The loyalty service: client statistics, the location program and the bonus program."""
