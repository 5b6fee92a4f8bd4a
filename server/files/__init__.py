"""Files in and out: tables as CSV and XLSX for Excel, and files people hand the server read within limits."""
