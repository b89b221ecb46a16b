"""The runbook pack and estates: YAML files read into the model, every problem at file:line.

Reading, lowest first: `textfile` (one file from disk), `yamlsrc` (YAML with line marks, bounded),
`mapping` (typed access to a mapping), `textrules` (ids, invisible characters), `fields` (readers
shared by several documents), `documents` (a file's one top-level key).
Documents: `graph`, `steps` (checklists, readiness, command rules), `scenario`, `estate` with
`management`, `pack` (the whole pack), `checks` (cross-checks), `validate` (the command).
Where the bundled files are: `paths`.
"""
