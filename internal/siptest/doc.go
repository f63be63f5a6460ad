// Package siptest runs the SIP peers of the tests on loopback: Debian's
// SIPp (package sip-tester) as a carrier or a desk phone, and Debian's
// baresip (baresip-core) as a softphone. It also owns what those runs need:
// free UDP ports on 127.0.0.1, 8 kHz mono WAV files for baresip to speak,
// and G.711 μ-law.
//
// Without sipp or baresip a test is skipped, except when CI=true, where it
// fails and names the Debian package to install.
//
// It must import no package of this module, and only _test.go files import
// it.
package siptest
