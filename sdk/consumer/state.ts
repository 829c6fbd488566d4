/**
 * The consumer's own records in its state table (partition key `pk`, sort key `sk`).
 * Writes are create-if-absent, so a retried or duplicated event never overwrites the
 * record the first delivery made, and the caller learns which record won.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidOptionError } from '../errors';

export interface StateKey {
  readonly pk: string;
  readonly sk: string;
}

export interface StateTableOptions {
  /** @default - the STATE_TABLE_NAME environment variable */
  readonly tableName?: string;
  /** @default - a new DynamoDBClient (honours AWS_ENDPOINT_URL_DYNAMODB) */
  readonly client?: DynamoDBClient;
}

export class StateTable {
  public readonly tableName: string;
  private readonly documents: DynamoDBDocumentClient;

  public constructor(options: StateTableOptions = {}) {
    const tableName = options.tableName ?? process.env.STATE_TABLE_NAME;
    if (!tableName) throw new InvalidOptionError('State table name missing: pass tableName or set STATE_TABLE_NAME');
    this.tableName = tableName;
    this.documents = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  /**
   * Writes `item` unless an item with its key exists. Returns the item now stored and
   * whether this call created it.
   */
  public async putIfAbsent<T extends StateKey>(item: T): Promise<{ item: T; created: boolean }> {
    try {
      await this.documents.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return { item, created: true };
    } catch (error) {
      if ((error as Error)?.name !== 'ConditionalCheckFailedException') throw error;
      const existing = await this.get<T>(item);
      // Deleted between the two calls (only by hand): fail so the record is retried.
      if (!existing) throw new Error(`State item ${item.pk} / ${item.sk} vanished during a conditional write`, { cause: error });
      return { item: existing, created: false };
    }
  }

  public async get<T extends StateKey>(key: StateKey): Promise<T | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
    );
    return result.Item as T | undefined;
  }
}
