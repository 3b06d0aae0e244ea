"""What both apps and the suite share: the spec, the error catalogue, limits and targets."""
