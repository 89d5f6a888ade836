"""live-mem tests."""
