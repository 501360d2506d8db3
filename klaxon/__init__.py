"""The klaxon command line: composes the watcher, the workers, the rules and the simulator."""
