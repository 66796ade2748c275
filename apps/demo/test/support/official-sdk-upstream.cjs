// A client traced by the official aws-xray-sdk-core: one segment whose captured HTTP call goes to
// process.env.TARGET; prints the ids of its segment and of the call's subsegment, then exits.
const AWSXRay = require('aws-xray-sdk-core');

AWSXRay.setDaemonAddress(process.env.DAEMON);
AWSXRay.setContextMissingStrategy('IGNORE_ERROR');
const http = AWSXRay.captureHTTPs(require('node:http'));
const segment = new AWSXRay.Segment('official-upstream');
AWSXRay.getNamespace().run(() => {
  AWSXRay.setSegment(segment);
  http.get(process.env.TARGET, (res) => {
    res.resume();
    res.on('end', () => {
      const sub = segment.subsegments[0];
      segment.close();
      process.stdout.write(`${JSON.stringify({ traceId: segment.trace_id, segmentId: segment.id, subsegmentId: sub && sub.id, status: res.statusCode, header: res.headers['x-amzn-trace-id'] })}\n`);
      setTimeout(() => process.exit(0), 200);
    });
  });
});
