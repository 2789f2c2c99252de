/**
 * Implementation of the control protocol: which control message a waiting deployment accepts. Not API; anything
 * here may change in any release.
 */
package io.kafkaml.control.internals;
