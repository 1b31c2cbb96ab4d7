"""skyforge's LocalStack plugin: moto-backed providers for the services community LocalStack
does not serve, a loopback-only gateway, request accounting, fault injection and modeled
latencies. Loaded through entry points written by ``emulator.py install``."""
