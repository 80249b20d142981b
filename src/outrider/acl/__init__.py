"""Access control: who may do what, asked by every endpoint before it acts."""
