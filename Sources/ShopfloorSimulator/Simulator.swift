// The simulator lives here.
