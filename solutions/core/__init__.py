"""The machinery of the report: the document model (`document`), its Markdown,
LaTeX and PDF rendering (`render`, `templates/`), figures, finding runs
(`runs`), the committed run summary (`summary`) and the assembly in sheet
order (`report`: `BUILDERS`, problem id -> section builder)."""
