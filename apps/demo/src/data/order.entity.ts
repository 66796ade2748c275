import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An order, stored in PostgreSQL through TypeORM (the table `orders`, created by `DemoSchema`). */
@Entity({ name: 'orders' })
export class Order {
  @PrimaryColumn({ type: 'varchar' })
  id!: string;

  @Column({ type: 'varchar' })
  item!: string;

  @Column({ type: 'int' })
  quantity!: number;

  @Column({ type: 'varchar' })
  customer!: string;
}
