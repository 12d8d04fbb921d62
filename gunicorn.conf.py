"""gunicorn settings of kimdb (``gunicorn -c gunicorn.conf.py wsgi:app``).

The access log names the path but never the query string or the referrer: a case search
carries a name or a date of birth in its query, which must not end up in log files
(DESIGN.md §4). Bind address and worker count are given on the command line.
"""

accesslog = "-"
# Remote address, time, method, path without query, status, bytes, duration in milliseconds.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
