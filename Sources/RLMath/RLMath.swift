// RLMath: math answer extraction, LaTeX parsing and equivalence checking.
// Dependency-free (stdlib and FoundationEssentials at most). Work in progress: see issue 3.
