// Package oauth is the widget's side of sign-in: it starts the authorization
// code flow with state and PKCE kept in the widget's session, completes it by
// exchanging the code (golang.org/x/oauth2), keeps tokens on the server and
// refreshes them one at a time. It must not import the telephony switch or
// media.
package oauth
