import { Injectable, NotFoundException, type OnApplicationBootstrap } from '@nestjs/common';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Subsegment, XRayRecorder } from '@xrayjs/nestjs';

/** The products the catalog starts with. */
const PRODUCTS = [
  { sku: 'keyboard', name: 'Mechanical keyboard', price: 49 },
  { sku: 'mouse', name: 'Wireless mouse', price: 19 },
];

/** Local AWS needs some credentials; s3rver checks for its default key, dynalite for none. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The second service of the demo: products in DynamoDB, their descriptions in S3. It uses the AWS SDK
 * as any app would; every call is traced by `AUTO_INSTRUMENT` (no code here mentions X-Ray for it).
 */
@Injectable()
export class CatalogService implements OnApplicationBootstrap {
  private readonly dynamodb = new DynamoDBClient({ endpoint: process.env.CATALOG_DYNAMODB_ENDPOINT, region: 'us-east-1', credentials: CREDENTIALS });
  private readonly s3 = new S3Client({ endpoint: process.env.CATALOG_S3_ENDPOINT, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });

  constructor(private readonly xray: XRayRecorder) {}

  /** Creates the table and the bucket and loads the products: start-up work, in a segment of its own. */
  async onApplicationBootstrap(): Promise<void> {
    await this.xray.captureSegment('catalog-seed', async () => {
      await this.dynamodb.send(new CreateTableCommand({ TableName: 'products', AttributeDefinitions: [{ AttributeName: 'sku', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'sku', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
      await this.s3.send(new CreateBucketCommand({ Bucket: 'descriptions' }));
      for (const p of PRODUCTS) {
        await this.dynamodb.send(new PutItemCommand({ TableName: 'products', Item: { sku: { S: p.sku }, name: { S: p.name }, price: { N: String(p.price) } } }));
        await this.s3.send(new PutObjectCommand({ Bucket: 'descriptions', Key: `${p.sku}.txt`, Body: `${p.name}: the description.` }));
      }
    });
  }

  /** One product: its record and its description, read at once (two sibling AWS calls). */
  @Subsegment()
  async product(sku: string): Promise<{ sku: string; name: string; price: number; description: string }> {
    const [item, description] = await Promise.all([
      this.dynamodb.send(new GetItemCommand({ TableName: 'products', Key: { sku: { S: sku } } })),
      this.s3.send(new GetObjectCommand({ Bucket: 'descriptions', Key: `${sku}.txt` })).then(
        (o) => o.Body!.transformToString(),
        () => '',
      ),
    ]);
    if (!item.Item) throw new NotFoundException(`no product ${sku}`);
    return { sku, name: item.Item.name.S ?? '', price: Number(item.Item.price.N), description };
  }
}
