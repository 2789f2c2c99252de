/** Internals of the kafkaml server (routes, JSON bodies, errors, events); not API. */
package io.kafkaml.server.internals;
