"""What both apps and the suite share: the behaviour spec, the error catalogue, limits and targets."""
