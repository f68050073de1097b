# The sign-in page, error pages and what every page shares beyond common.ftl.
