"""SLA storage and API: business calendars, policies, the targets' recorded events,
breaches, at-risk tickets and reports. The arithmetic lives in `routing.core`; this
package reaches it only through the `SlaEngine` port the composition root installs."""
