// An Express service traced by the official aws-xray-sdk-express, sending to the daemon at
// process.env.DAEMON; prints its port. The interop test calls it through xrayjs.
const AWSXRay = require('aws-xray-sdk-core');
const xrayExpress = require('aws-xray-sdk-express');
const express = require('express');

AWSXRay.setDaemonAddress(process.env.DAEMON);
AWSXRay.setContextMissingStrategy('IGNORE_ERROR');
AWSXRay.middleware.disableCentralizedSampling();
const app = express();
app.use(xrayExpress.openSegment('official-downstream'));
app.get('/', (_req, res) => res.send('downstream ok'));
app.use(xrayExpress.closeSegment());
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
