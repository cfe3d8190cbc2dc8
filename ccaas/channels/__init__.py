"""The boundary with the outside: the MQTT bridge and one module per native channel format."""
