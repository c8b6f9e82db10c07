#!/usr/bin/env node
import { buildApp } from '../lib/app.ts';

buildApp().app.synth();
