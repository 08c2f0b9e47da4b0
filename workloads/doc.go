// Package workloads drives Notifier backends with generators on pinned CPUs
// and turns what it measures into results.Result rows.
//
// Every workload numbers what it fires and checks on collection that each
// number arrives exactly once; a row with a lost or duplicated firing is
// marked failed. CPU time comes from each pinned thread's CPU clock
// (CLOCK_THREAD_CPUTIME_ID), context switches from getrusage(RUSAGE_THREAD);
// system calls from the backends' own counters.
package workloads
