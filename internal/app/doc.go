// Package app builds one Starling process from its configuration: the domain service,
// the two River clients (an insert-only one for writes, one that works jobs when the
// process has workers), the wake-up notifier, the live hub and its LISTEN connection,
// the website, the API, the River dashboard, metrics and the policy figures (posting and
// login allowances, load shedding) that bind them together.
//
// The binary (cmd/starling) parses the configuration, opens the pool, calls Build and
// serves App.Handler; the API and website tests call the same Build, so that they run the
// production wiring rather than a copy of it. What a test needs to vary beyond the
// configuration (a mail sender, retry timings, the authorization server's clock, the
// API's options) is a field of Options; every such field defaults to what production
// uses.
//
// An App stops in two steps, in this order around the HTTP servers' own shutdown:
//
//	a.Drain()          // readiness turns false; live streams end with "reconnect"
//	srv.Shutdown(ctx)  // in-flight requests finish
//	a.Close(ctx)       // workers finish their running jobs (bounded by ctx), then
//	                   // the background services and sessions stop
package app
