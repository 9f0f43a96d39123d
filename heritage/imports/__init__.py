"""Spreadsheets of the register: sites, their names, sources, events and citations
imported from CSV or XLSX files, and exported in the same columns.

- tables.py: the five tables and their columns, the one list behind the import and
  the export.
- reading.py: files to rows (one XLSX workbook with a sheet per table, or a CSV file
  per table, given one by one, as a folder or as a zip), refusing what is not a
  spreadsheet, formulas, and files past the limits before anything is parsed.
- loading.py: rows to the register, through heritage.workflow as the importing user,
  in one transaction: all of it or, if any row breaks a rule, none of it. A dry run
  takes the same path and rolls back, so its preview is what the import would do.
- writing.py: the register to files, in the columns the import reads.
- admin.py: the admin's upload, preview, confirm and download pages.

Why our own code rather than django-import-export: an import here is five tables that
refer to one another (a citation names an event and a source of the same file), loaded
in one transaction through the workflow (proposals, drafts, four eyes, the quote
check), with every error named by file, row and column. django-import-export imports
one model per resource and file, saves rows through its own instance loaders, and
would bring tablib and its own admin templates to be overridden at each of those
points; the part we need from it (reading cells) is openpyxl's and the csv module's.
openpyxl is the one dependency: it reads and writes XLSX, is pure Python, and is the
library Excel files are read with in Python (tablib and pandas use it too).
"""
