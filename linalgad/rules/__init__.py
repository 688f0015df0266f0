"""One module per primal; each holds that primal's forward, VJP and JVP."""
