"""Closure Readiness: `streamlit run app.py` from a checkout starts the app.

The app lives in the package (src/closure_readiness/app.py); this file is only its entry, with
the checkout's .streamlit/config.toml (a link to the package's hardened settings). Installed
from a wheel, `closure-readiness run` starts the same app with the same settings.
"""

from closure_readiness.app import main

main()
