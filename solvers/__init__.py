"""dpm.solvers: HiGHS interface, solver options and the lexicographic stage driver."""
