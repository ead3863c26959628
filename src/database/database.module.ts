import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service.js';

/** The database for every feature: import once in `AppModule` (after `ConfigModule`). */
@Global()
@Module({ providers: [PrismaService], exports: [PrismaService] })
export class DatabaseModule {}
